"""Training pixelmill's built-in text-to-image model and its alignment eval.

- :mod:`~pixelmill.training.scenes`: the procedural, seeded scene generator (ground truth).
- :mod:`~pixelmill.training.captions`: paraphrased captions of those scenes.
- :mod:`~pixelmill.training.dataset`: scenes + captions + cached text embeddings.
- :mod:`~pixelmill.training.recipe`: every training hyper-parameter, in one dataclass.
- :mod:`~pixelmill.training.trainer`: ``pixelmill train demo-model`` (autoencoder, then UNet).
- :mod:`~pixelmill.training.alignment`: attribute classifier and ``pixelmill eval alignment``.
"""
