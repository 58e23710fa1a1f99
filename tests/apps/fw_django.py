"""A single-module Django project for tests/frameworks.rs (mounted at a non-root URL)."""

import os
import sys

from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        SECRET_KEY="rwsgi-test-not-secret",
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[],
        MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
        USE_TZ=True,
    )

import django

django.setup()

from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt

PAYLOAD = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "htdocs", "fw_payload.txt")


def hello(request):
    return HttpResponse("hello from django", content_type="text/plain")


@csrf_exempt
def form(request):
    if request.method != "POST":
        return HttpResponse("POST only", status=405, content_type="text/plain")
    lines = [f"{k}={v}" for k, v in sorted(request.POST.items())]
    lines.append("tags=" + ",".join(request.POST.getlist("tag")))
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def guarded(request):
    # Not csrf_exempt: a POST without a token is refused by CsrfViewMiddleware.
    return HttpResponse("should not get here", content_type="text/plain")


def as_json(request):
    return JsonResponse(
        {
            "reverse_item": reverse("item", args=[42]),
            "reverse_hello": reverse("hello"),
            "absolute": request.build_absolute_uri(reverse("item", args=[7])),
            "path": request.path,
            "path_info": request.path_info,
            "script_name": request.META.get("SCRIPT_NAME"),
            "method": request.method,
            "q": request.GET.get("q"),
        }
    )


def item(request, item_id):
    return HttpResponse(f"item {item_id} type={type(item_id).__name__}", content_type="text/plain")


def stream(request):
    def chunks():
        for i in range(200):
            yield f"chunk-{i:03d}:" + ("x" * (i % 17)) + "\n"

    return StreamingHttpResponse(chunks(), content_type="text/plain")


def fileresp(request):
    return FileResponse(open(PAYLOAD, "rb"), content_type="text/plain")


urlpatterns = [
    path("hello/", hello, name="hello"),
    path("form/", form, name="form"),
    path("guarded/", guarded, name="guarded"),
    path("json/", as_json, name="json"),
    path("items/<int:item_id>/", item, name="item"),
    path("stream/", stream, name="stream"),
    path("file/", fileresp, name="file"),
]

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
