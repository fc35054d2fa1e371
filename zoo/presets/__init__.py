"""Presets: a finished run as a folder (or hub repository) that anyone can load, check
and fine-tune, with its recipe and measured scores travelling with the weights.

    preset = zoo.from_preset("hf://org/mnist_cnn")   # or a folder, file://, kaggle://
    probabilities = preset.model.predict(images)     # raw uint8 pixels / raw strings
    preset.class_names[probabilities.argmax(-1)[0]]

Format: zoo/presets/format.py. Publishing: publish.py. Addresses and cache: uris.py.
Fine-tuning (model.init_from, model.freeze): transfer.py.
"""
