"""The model at run time: the ONNX network, sampling under the player's controls, continuations, Markov."""
