"""Running the server: liveness and readiness, Prometheus metrics, start-up progress, and `viva doctor`'s checks of the machine."""
