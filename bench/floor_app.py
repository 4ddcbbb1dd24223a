"""The floor under the widget's balance read, for bench/floors.py: a bare Flask app that does the
one thing `GET /storefront/v1/me` cannot do without while every web process on every host
shares the balances: one Redis round trip, fetching a value of the cached summary's size. No
token check, no rate limit, no JSON work. Whatever the app does on top of this only costs more."""
import os

import redis
from flask import Flask, Response

app = Flask(__name__)
_redis = redis.Redis.from_url(os.environ["REDIS_URL"])
KEY = "bench:floor:summary"


@app.get("/storefront/v1/me")
def one_redis_read():
    return Response(_redis.get(KEY) or b"{}", content_type="application/json")
