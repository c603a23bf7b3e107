"""pixelmill: a self-hostable, Midjourney-class image-generation service."""

__version__ = "0.1.0"
