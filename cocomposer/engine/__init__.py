"""The live engine: settings, interaction modes, the inference worker, the scheduler, session recording."""
