"""The bare baseline for bench/ingest.py: Flask answering a POST with a tiny JSON body."""
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/webhooks/shopify")
def hello():
    request.get_data()
    return jsonify(ok=True)


@app.post("/storefront/v1/cart/quote")
def hello_quote():
    request.get_data()
    return jsonify(ok=True)


@app.get("/storefront/v1/me")
def hello_me():
    return jsonify(ok=True)
