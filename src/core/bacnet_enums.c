/*
 * bacnet_enums.c — names of the values of enumerated properties
 * (bacsc_property_enum_name, bacsc/apdu.h): the enumerations of the
 * properties of the objects bacsc implements (Device, Network Port, Analog
 * Value, File), so a tool prints "connected-to-primary" rather than 1.
 */
#include <stddef.h>

#include "bacsc/apdu.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const device_status[] = {
    "operational",         "operational-read-only", "download-required",
    "download-in-progress", "non-operational",      "backup-in-progress"};
static const char *const event_state[] = {"normal",     "fault",     "offnormal",
                                          "high-limit", "low-limit", "life-safety-alarm"};
static const char *const reliability[] = {
    "no-fault-detected", "no-sensor", "over-range", "under-range", "open-loop", "shorted-loop",
    "no-output", "unreliable-other", "process-error", "multi-state-fault", "configuration-error",
    NULL, "communication-failure", "member-fault", "monitored-object-fault", "tripped",
    "lamp-failure", "activation-failure", "renew-dhcp-failure", "renew-fd-registration-failure",
    "restart-auto-negotiation-failure", "restart-failure", "proprietary-command-failure",
    "faults-listed", "referenced-object-fault"};
static const char *const file_access[] = {"record-access", "stream-access"};
static const char *const restart_reason[] = {
    "unknown", "coldstart", "warmstart", "detected-power-lost", "detected-powered-off",
    "hardware-watchdog", "software-watchdog", "suspended", "activate-changes"};
static const char *const network_type[] = {"ethernet", "arcnet", "mstp",    "ptp",
                                           "lontalk",  "ipv4",   "zigbee",  "virtual",
                                           NULL,       "ipv6",   "serial",  "secure-connect"};
static const char *const protocol_level[] = {"physical", "protocol", "bacnet-application",
                                             "non-bacnet-application"};
static const char *const net_number_quality[] = {"unknown", "learned", "learned-configured",
                                                 "configured"};
static const char *const port_command[] = {
    "idle",       "discard-changes",    "renew-fd-registration", "restart-slave-discovery",
    "renew-dhcp", "restart-autonegotiation", "disconnect",       "restart-port",
    "generate-csr-file", "validate-changes"};
static const char *const ip_mode[] = {"normal", "foreign", "bbmd"};
static const char *const hub_connector_state[] = {"no-hub-connection", "connected-to-primary",
                                                  "connected-to-failover"};

static const struct {
    uint32_t property;
    const char *const *names;
    size_t n;
} tables[] = {
    {BACSC_PROP_SYSTEM_STATUS, device_status, COUNT(device_status)},
    {BACSC_PROP_EVENT_STATE, event_state, COUNT(event_state)},
    {BACSC_PROP_RELIABILITY, reliability, COUNT(reliability)},
    {41 /* file-access-method */, file_access, COUNT(file_access)},
    {196 /* last-restart-reason */, restart_reason, COUNT(restart_reason)},
    {427 /* network-type */, network_type, COUNT(network_type)},
    {482 /* protocol-level */, protocol_level, COUNT(protocol_level)},
    {426 /* network-number-quality */, net_number_quality, COUNT(net_number_quality)},
    {417 /* command (Network Port) */, port_command, COUNT(port_command)},
    {408 /* bacnet-ip-mode */, ip_mode, COUNT(ip_mode)},
    {BACSC_PROP_SC_HUB_CONNECTOR_STATE, hub_connector_state, COUNT(hub_connector_state)},
};

const char *bacsc_property_enum_name(uint32_t property, uint32_t value)
{
    if (property == BACSC_PROP_SEGMENTATION_SUPPORTED)
        return bacsc_segmentation_name(value);
    if (property == BACSC_PROP_OBJECT_TYPE)
        return bacsc_object_type_name(value);
    for (size_t i = 0; i < COUNT(tables); i++)
        if (tables[i].property == property)
            return value < tables[i].n ? tables[i].names[value] : NULL;
    return NULL;
}
