"""advcompare: compare adversarial attacks across torchattacks, ART and Foolbox on one CNN.

Reproduces Campbell & Lasselle, *Enhancing the Robustness of Deep Neural Networks* (WPI MQP,
2024): one CNN, four attacks, one grader (macro F1, time per image).
"""

__version__ = "0.1.0"
