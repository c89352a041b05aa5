"""The seed products' documented shapes, one module per product, written from the seed pages
(`../shared/seeds/`) and not from the server's models: a compat response must validate here."""
