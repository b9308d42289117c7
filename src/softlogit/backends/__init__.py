"""Optional backends: sibling packages that register a Design with softlogit.data (DESIGN §2)."""
