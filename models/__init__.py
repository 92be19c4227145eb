"""The shipped model (``default.onnx``, its sidecar ``default.json`` and golden vectors), installed as the package
``cocomposer.models`` and read through :mod:`importlib.resources` (see ``cocomposer.model.runtime``)."""
