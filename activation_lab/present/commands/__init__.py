"""One module per CLI verb (see :mod:`activation_lab.present.cli`)."""
