require "reject";
reject "I no longer accept mail from this sender. Please remove me from your list.";
