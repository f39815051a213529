"""``python -m activation_lab``: the command line, where the ``activation-lab`` script is not on PATH."""

from activation_lab.present.cli import main

raise SystemExit(main())
