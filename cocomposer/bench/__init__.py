"""`cocomposer bench` and the musical benchmark, and the private JACK server they (and the tests) start."""
