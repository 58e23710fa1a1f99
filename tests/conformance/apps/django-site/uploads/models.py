from django.db import models


class Document(models.Model):
    title = models.CharField(max_length=200)
    upload = models.FileField(upload_to="docs/")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.title
