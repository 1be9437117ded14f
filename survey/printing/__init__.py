"""What is printed: QR codes and posters."""
