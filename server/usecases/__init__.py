"""The service layer: what the server does for a session, whoever asks (the REST routes, the
compat adapters, the live channels). It knows nothing of HTTP: no request, no response, no
`Call`; what a service refuses is a `server.usecases.errors.ServiceError`, which each edge
answers in its own shape (`server.http.errors.from_service`).

`opening` (a new session), `consent` (the disclosure and the candidate's consent), `chat` (one
typed exchange), `ending` (finish and end away from the stream), `clock` (the session's time
base). They run on what a running server holds (`server.services.Services`).
"""
