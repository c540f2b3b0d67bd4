"""Deep correlation, contrastive and supervised baselines on one tower per modality: DCCA, DCCAE,
Corr-AE, CLIP-style contrastive heads (and their supervised twin), DSCMR and ACMR."""
