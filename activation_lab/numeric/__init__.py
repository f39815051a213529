"""Numeric layer: stable rewrites and code generation (NumPy, mpmath) from the symbolic forms."""
