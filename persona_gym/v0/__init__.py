"""Task version 0, frozen: the rules the ``-v0`` ids were published with."""
