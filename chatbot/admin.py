"""Managers' side of the assistant: FAQ entries, unanswered questions grouped by similarity (one click makes a
group an FAQ entry), support requests with their conversation, conversations, intent models (retrain)."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from . import training, unanswered
from .models import Conversation, FaqEntry, IntentModel, Message, SupportRequest, UnansweredQuestion


@admin.register(FaqEntry)
class FaqEntryAdmin(admin.ModelAdmin):
    list_display = ["question", "slug", "is_active", "n_examples", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["question", "answer", "examples"]
    prepopulated_fields = {"slug": ["question"]}
    list_editable = ["is_active"]

    @admin.display(description="examples")
    def n_examples(self, obj):
        return len(obj.example_list())

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        training.schedule()
        messages.info(request, "The assistant is retraining with this entry; it answers it within a minute.")

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        training.schedule()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        training.schedule()


class MessageInline(admin.TabularInline):
    model = Message
    fields = ["created_at", "role", "text", "intent", "confidence", "answered"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["created_at", "id"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["started_at", "last_at", "user", "channel", "n_messages"]
    list_filter = ["channel"]
    readonly_fields = ["id", "user", "channel", "state", "started_at", "last_at"]
    inlines = [MessageInline]
    list_select_related = ["user"]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(n=Count("messages"))

    @admin.display(description="messages", ordering="n")
    def n_messages(self, obj):
        return obj.n

    def has_add_permission(self, request):
        return False


@admin.register(SupportRequest)
class SupportRequestAdmin(admin.ModelAdmin):
    list_display = ["created_at", "status", "who", "first_line"]
    list_filter = ["status"]
    list_editable = ["status"]
    search_fields = ["email", "transcript", "user__username", "user__email"]
    readonly_fields = ["created_at", "user", "email", "conversation_link", "transcript"]
    fields = ["status", "note", "created_at", "user", "email", "conversation_link", "transcript"]
    list_select_related = ["user"]

    @admin.display(description="from")
    def who(self, obj):
        return obj.email or (obj.user and obj.user.email) or obj.user or "(no e-mail yet)"

    @admin.display(description="conversation")
    def first_line(self, obj):
        lines = [line for line in obj.transcript.splitlines() if "Customer:" in line]
        return (lines[-1].split("Customer:", 1)[1].strip()[:80]) if lines else ""

    @admin.display(description="conversation (live)")
    def conversation_link(self, obj):
        if not obj.conversation_id:
            return "deleted after the retention period (the transcript below is kept)"
        url = reverse("admin:chatbot_conversation_change", args=[obj.conversation_id])
        return format_html('<a href="{}">open the conversation</a>', url)

    def has_add_permission(self, request):
        return False


class MakeFaqForm(forms.Form):
    ids = forms.CharField(widget=forms.HiddenInput)
    question = forms.CharField(max_length=200)
    answer = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))

    def clean_ids(self):
        try:
            return [int(x) for x in self.cleaned_data["ids"].split(",") if x.strip()]
        except ValueError:
            raise ValidationError("bad question ids") from None


@admin.register(UnansweredQuestion)
class UnansweredQuestionAdmin(admin.ModelAdmin):
    """Not a plain list: questions grouped by similarity, each group with a form that makes it an FAQ entry."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            if not request.user.has_perm("chatbot.add_faqentry"):
                raise PermissionDenied
            form = MakeFaqForm(request.POST)
            if form.is_valid():
                try:
                    entry = unanswered.make_faq(form.cleaned_data["ids"], form.cleaned_data["question"],
                                                form.cleaned_data["answer"])
                except ValidationError as exc:
                    messages.error(request, " ".join(exc.messages))
                else:
                    url = reverse("admin:chatbot_faqentry_change", args=[entry.pk])
                    messages.success(request, format_html(
                        'FAQ entry <a href="{}">{}</a> created from {} question(s); the assistant is retraining and '
                        'answers it within a minute.', url, entry.question, len(entry.example_list()) - 1))
                    return redirect(request.path)
            else:
                messages.error(request, "Write a question and an answer for the FAQ entry.")
        groups = unanswered.groups()
        context = {
            **self.admin_site.each_context(request), "title": "Unanswered questions", "groups": groups,
            "opts": self.model._meta, "can_add_faq": request.user.has_perm("chatbot.add_faqentry"),
            "total": sum(g["count"] for g in groups), **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/chatbot/unanswered.html", context)


@admin.register(IntentModel)
class IntentModelAdmin(admin.ModelAdmin):
    list_display = ["id", "status", "kind", "n_examples", "n_intents", "accuracy", "macro_f1", "threshold",
                    "created_at", "duration_s"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in IntentModel._meta.fields]
    change_list_template = "admin/chatbot/intentmodel/change_list.html"

    @admin.display(description="validation accuracy")
    def accuracy(self, obj):
        return obj.metrics.get("accuracy")

    @admin.display(description="macro-F1")
    def macro_f1(self, obj):
        return obj.metrics.get("macro_f1")

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        return [path("retrain/", self.admin_site.admin_view(self.retrain), name="chatbot_intentmodel_retrain"),
                *super().get_urls()]

    def retrain(self, request):
        if request.method != "POST" or not request.user.has_perm("chatbot.change_faqentry"):
            raise PermissionDenied
        training.schedule(force=True)
        messages.success(request, "Retraining started; the new model serves when it is done (usually seconds).")
        return redirect("admin:chatbot_intentmodel_changelist")
