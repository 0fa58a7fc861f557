"""ML pieces both engines share (pure Python + numpy/torch; never Django, never environment variables).

* :mod:`mlcore.config`   -- ``EngineConfig``: the typed, commented, validated config base both engines subclass
* :mod:`mlcore.artifact` -- artifact to and from bytes with a magic marker and a format version
* :mod:`mlcore.progress` -- the ``progress(epoch, metrics)`` callback convention and a terminal bar
* :mod:`mlcore.images`   -- ``ImageFeatureExtractor``: frozen CNN region features with a content-hash disk cache
* :mod:`mlcore.cli`      -- the shared command-line flags (``--train-until``, ``--artifact``, ``--out``, ...)
* :mod:`mlcore.device`   -- ``pick_device("auto" | "cpu" | "cuda")``

Everything that touches a file takes its path as an argument; nothing here reads the environment.
Importing ``mlcore`` (this module) imports neither torch nor numpy.
"""
