"""E-certificates (电子合格证明): issuing on a pass, PDFs, public verification, renewal, revocation, permits."""
