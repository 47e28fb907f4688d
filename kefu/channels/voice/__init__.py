"""Voice over SIP: call control core, media-server drivers (pjsua2, FreeSWITCH ESL), Kamailio."""
