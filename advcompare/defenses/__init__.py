"""The paper's four defenses (Campbell & Lasselle 2024, §2.3), built natively in torch so that
every backend attacks exactly the same defended model."""
