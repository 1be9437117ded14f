"""The citizen's side: the QR form, the receipt-link form, and storing what they send."""
