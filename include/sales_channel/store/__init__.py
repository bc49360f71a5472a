"""The channel database: the product's own tables (see DESIGN.md, "The channel database")."""
