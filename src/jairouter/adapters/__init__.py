"""Backend adapters: one module per product, registered in one ordered table."""
