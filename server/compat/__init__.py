"""Drop-in compatibility with the seed products' APIs: a team that integrated one of them moves
to Viva Voce by changing its base URL.

One module per product, each a thin translation of the product's documented requests and
responses onto the native services (the same sessions, engine, transcript and reports); the
routes are gathered in `server.compat.routes`. Errors are answered in each product's own shape.
"""

# The layer builds on the native API: load it first, whichever module is imported first (the
# API mounts this layer's routes, `server.compat.routes`, when it loads).
import server.api  # noqa: F401
