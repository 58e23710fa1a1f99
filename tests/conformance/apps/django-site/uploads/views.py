"""A page with an upload form (multipart, CSRF) and a page behind Apache's auth."""
from django import forms
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template import engines

from .models import Document


class DocumentForm(forms.ModelForm):
    class Meta:
        model = Document
        fields = ["title", "upload"]


PAGE = engines["django"].from_string("""<!doctype html>
<title>uploads</title>
<form method="post" enctype="multipart/form-data">{% csrf_token %}{{ form.as_p }}<button>Upload</button></form>
<ul>{% for d in docs %}<li><a href="{{ d.upload.url }}">{{ d.title }}</a> ({{ d.upload.size }} bytes)</li>{% endfor %}</ul>
""")


def index(request):
    if request.method == "POST":
        form = DocumentForm(request.POST, request.FILES)
        if form.is_valid():
            form.save()
            return redirect("/upload/")
    else:
        form = DocumentForm()
    return HttpResponse(PAGE.render({"form": form, "docs": Document.objects.all()}, request))


def secret(request):
    return HttpResponse("secret ok; REMOTE_USER=%s AUTH_TYPE=%s\n" % (
        request.META.get("REMOTE_USER"), request.META.get("AUTH_TYPE")),
        content_type="text/plain")
