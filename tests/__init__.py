"""pixelmill tests (a package so plugins load as ``tests.<module>``)."""
