"""Microsoft Teams through the Bot Framework. Every botbuilder import of the bot lives in this folder."""
