"""Training: the model, a training loop that knows nothing about Spark or petastorm, the
feeder interface (petastorm behind it), the Spark ML baseline and the model store."""
