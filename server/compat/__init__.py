"""Drop-in compatibility with the seed products' APIs: a team that integrated one of them moves
to Viva Voce by changing its base URL.

One module per product, each a thin translation of the product's documented requests and
responses onto the native services (`server/usecases/`: the same sessions, engine, transcript
and reports) and the HTTP edges' kit (`server/http/`), never onto the native API's own routes;
the routes are gathered in `server.compat.routes`, which the API mounts. Errors are answered in
each product's own shape.
"""
