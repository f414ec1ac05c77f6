"""WhatsApp Cloud API channel of LAW: ``addons.whatsapp.WhatsAppInput`` in credentials.yml."""
from addons.whatsapp.channel import WhatsAppInput
from addons.whatsapp.output import WhatsAppOutput
from addons.whatsapp.settings import WhatsAppConfigError, WhatsAppSettings

__all__ = ["WhatsAppConfigError", "WhatsAppInput", "WhatsAppOutput", "WhatsAppSettings"]
