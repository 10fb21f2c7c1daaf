#!/usr/bin/env python3
"""The generated-client check of the contract run (infra/contract.sh).

`docs/openapi.yaml` must produce a client that works: this imports every module of a client
generated from it by openapi-python-client (pinned, infra/requirements-client.txt), then uses
that client against the running API to create a product, read it back, change it with a merge
patch and list it. Any import error, undocumented answer or wrong field fails the run.

Usage: client_check.py <package-dir> <package-name> <base-url> <token>
"""

import importlib
import pkgutil
import sys
import uuid


def main():
    package_dir, name, url, token = sys.argv[1:5]
    sys.path.insert(0, package_dir)
    client_pkg = importlib.import_module(name)
    modules = [m.name for m in pkgutil.walk_packages(client_pkg.__path__, f"{name}.")]
    for module in modules:
        importlib.import_module(module)

    client_mod = importlib.import_module(f"{name}.client")
    products = f"{name}.api.products"
    create_product = importlib.import_module(f"{products}.create_product")
    get_product = importlib.import_module(f"{products}.get_product")
    update_product = importlib.import_module(f"{products}.update_product")
    list_products = importlib.import_module(f"{products}.list_products")
    models = importlib.import_module(f"{name}.models")

    client = client_mod.AuthenticatedClient(
        base_url=url, token=token, raise_on_unexpected_status=True
    )
    sku = f"CLIENT-{uuid.uuid4().hex[:10].upper()}"
    with client as c:
        created = create_product.sync_detailed(
            client=c,
            body=models.NewProduct(
                sku=sku,
                name="Generated-client mug",
                category="kitchen",
                price=models.Money(amount_minor=45_000, currency="INR"),
                barcode="4006381333931",
            ),
        )
        expect(created.status_code == 201, f"create answered {created.status_code}: {created.content!r}")
        product = created.parsed
        expect(isinstance(product, models.Product), f"create parsed as {type(product).__name__}")
        expect(product.sku == sku, f"sku {product.sku} != {sku}")

        read = get_product.sync_detailed(client=c, id=product.id)
        expect(read.status_code == 200, f"read answered {read.status_code}: {read.content!r}")
        expect(read.parsed.name == "Generated-client mug", f"read name {read.parsed.name}")
        expect(read.parsed.price.amount_minor == 45_000, f"read price {read.parsed.price.amount_minor}")
        etag = read.headers.get("etag")
        expect(etag, "read had no ETag")

        changed = update_product.sync_detailed(
            client=c,
            id=product.id,
            if_match=etag,
            body=models.ProductPatch(name="Generated-client cup"),
        )
        expect(changed.status_code == 200, f"patch answered {changed.status_code}: {changed.content!r}")
        expect(changed.parsed.name == "Generated-client cup", f"patched name {changed.parsed.name}")

        listed = list_products.sync_detailed(client=c, limit=100)
        expect(listed.status_code == 200, f"list answered {listed.status_code}")
        expect(
            any(p.id == product.id for p in listed.parsed.items),
            "the new product is not in the first page",
        )
    print(
        f"generated client: {len(modules)} modules import; created, read, patched and listed product {product.id}"
    )


def expect(condition, message):
    if not condition:
        sys.exit(f"generated client check failed: {message}")


if __name__ == "__main__":
    main()
