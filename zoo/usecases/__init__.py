"""The use cases behind the commands (evaluate, export, predict, prepare, publish,
results): library code above every other layer but the API, so that zoo/cli/ only parses
arguments and prints, and `zoo.api` offers each of them to scripts and notebooks."""
