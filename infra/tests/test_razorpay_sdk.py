"""Razorpay's official Python SDK (pinned in infra/requirements.txt) against the local
stand-in (run by `make test`): customers, saved methods (tokens), an order for a customer
paid with a saved token, and the payment signature the SDK verifies. If the stand-in drifts
from Razorpay's documented wire format, the SDK is what notices."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import razorpay

KEY_ID, KEY_SECRET = "rzp_test_sdkcheck", "sdk-check-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def control(base, path, body):
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={"content-type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


def expect_refused(call, what):
    try:
        call()
    except razorpay.errors.BadRequestError:
        return
    sys.exit(f"the stand-in accepted {what}")


def check(base):
    client = razorpay.Client(auth=(KEY_ID, KEY_SECRET), base_url=base)
    details = {"name": "Asha Rao", "email": "asha@example.com", "contact": "+919876543210"}
    customer = client.customer.create({**details, "fail_existing": "0"})
    assert customer["id"].startswith("cust_") and customer["entity"] == "customer", customer
    again = client.customer.create({**details, "fail_existing": "0"})
    assert again["id"] == customer["id"], "fail_existing=0 answers the existing customer"
    expect_refused(lambda: client.customer.create({**details, "fail_existing": "1"}),
                   "a second customer with the same details")
    assert client.customer.fetch(customer["id"])["email"] == details["email"]

    saved = control(base, f"/_stand-in/customers/{customer['id']}/tokens", {"method": "card"})
    tokens = client.token.all(customer["id"])
    assert tokens["entity"] == "collection" and tokens["count"] == 1, tokens
    token = tokens["items"][0]
    assert token["id"] == saved["id"] and token["entity"] == "token", token
    assert token["method"] == "card" and token["card"]["network"] == "Visa", token
    assert client.token.fetch(customer["id"], token["id"])["id"] == token["id"]

    order = client.order.create({"amount": 50000, "currency": "INR", "receipt": "sdk-1",
                                 "customer_id": customer["id"]})
    assert order["customer_id"] == customer["id"], order
    expect_refused(lambda: client.order.create({"amount": 50000, "currency": "INR",
                                                "customer_id": "cust_Nope0000000000"}),
                   "an order for an unknown customer")
    paid = client.payment.createRecurring({
        "email": details["email"], "contact": details["contact"], "amount": 50000,
        "currency": "INR", "order_id": order["id"], "customer_id": customer["id"],
        "token": token["id"], "recurring": "1", "description": "sdk check"})
    assert client.utility.verify_payment_signature(paid), "the signature verifies"
    assert client.order.fetch(order["id"])["status"] == "paid"
    payment = client.payment.fetch(paid["razorpay_payment_id"])
    assert payment["status"] == "captured" and payment["token_id"] == token["id"], payment
    expect_refused(lambda: client.payment.createRecurring({
        "email": details["email"], "contact": details["contact"], "amount": 50000,
        "currency": "INR", "order_id": order["id"], "customer_id": customer["id"],
        "token": token["id"], "recurring": "1"}), "paying a paid order again")

    assert client.token.delete(customer["id"], token["id"])["deleted"] is True
    assert client.token.all(customer["id"])["count"] == 0
    expect_refused(lambda: client.token.delete(customer["id"], token["id"]),
                   "deleting a deleted token")


def main():
    binary = os.environ.get("RAZORPAY_LOCAL_BIN", "target/debug/razorpay-local")
    port = free_port()
    env = {**os.environ, "RAZORPAY_LOCAL_PORT": str(port), "RAZORPAY_KEY_ID": KEY_ID,
           "RAZORPAY_KEY_SECRET": KEY_SECRET, "RAZORPAY_WEBHOOK_SECRET": "sdk-webhook-secret"}
    env.pop("RAZORPAY_LOCAL_WEBHOOK_URL", None)
    server = subprocess.Popen([binary], env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/_stand-in/health", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        else:
            sys.exit("the stand-in did not start")
        check(base)
    finally:
        server.terminate()
        server.wait()
    print("razorpay's official SDK works against the stand-in")


if __name__ == "__main__":
    main()
