"""Background jobs: thin tasks calling services, the queues that carry them, and the periodic
schedule. RQ on Redis in production; a thread in-process when REDIS_URL is unset."""
