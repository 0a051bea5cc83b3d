"""Feature extraction: one module per feature family of docs/DESIGN ("Feature families")."""
