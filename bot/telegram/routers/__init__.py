"""One router per kind of update; the dispatcher includes them in the order of `ROUTERS`."""
