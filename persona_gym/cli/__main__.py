"""``python -m persona_gym.cli``: the same as the ``persona-gym`` console script."""

import sys

from persona_gym.cli import main

sys.exit(main())
