"""Platform access from notebooks and trainers: configuration providers and trainer helpers.

- :mod:`kaptain.platform.config` -- credentials for the registry and blob storage,
  turned into Secret bodies.
- :mod:`kaptain.platform.model_export_util` -- upload a trained model from a trainer.
- :mod:`kaptain.platform.metadata_util` -- report metrics from a trainer.
"""
