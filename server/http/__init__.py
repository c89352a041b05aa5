"""What every HTTP edge shares (the REST API, the compat adapters, the phone webhooks): declared
endpoints, the one JSON error shape, capped request bodies, and loading the caller's session.
The services below (server/usecases/) know nothing of it."""
