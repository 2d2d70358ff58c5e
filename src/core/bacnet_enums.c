/*
 * bacnet_enums.c — names of the values of enumerated properties
 * (bacsc_property_enum_name, bacsc/apdu.h): the enumerations of the
 * properties of the objects bacsc implements (Device, Network Port, Analog
 * Value, File), so a tool prints "connected-to-primary" rather than 1, and
 * "degrees-celsius" rather than 62 for Units.
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

/* BACnetEngineeringUnits, the standard's names: 0..254 here (255 is
 * unassigned, 256..47807 proprietary) and 47808.. in units_47808 (50000..
 * proprietary); a value without a name is printed as the number. Both tables
 * are checked entry by entry against Wireshark's dissector by
 * tests/unit/test_units_wireshark.c, which lists where the words differ. */
static const char *const engineering_units[] = {
    "square-meters", "square-feet", "milliamperes", "amperes", "ohms", "volts", "kilovolts",
    "megavolts", "volt-amperes", "kilovolt-amperes", "megavolt-amperes", "volt-amperes-reactive",
    "kilovolt-amperes-reactive", "megavolt-amperes-reactive", "degrees-phase", "power-factor",
    "joules", "kilojoules", "watt-hours", "kilowatt-hours", "btus", "therms", "ton-hours",
    "joules-per-kilogram-dry-air", "btus-per-pound-dry-air", "cycles-per-hour",
    "cycles-per-minute", "hertz", "grams-of-water-per-kilogram-dry-air",
    "percent-relative-humidity", "millimeters", "meters", "inches", "feet",
    "watts-per-square-foot", "watts-per-square-meter", "lumens", "lux", "foot-candles",
    "kilograms", "pounds-mass", "tons", "kilograms-per-second", "kilograms-per-minute",
    "kilograms-per-hour", "pounds-mass-per-minute", "pounds-mass-per-hour", "watts", "kilowatts",
    "megawatts", "btus-per-hour", "horsepower", "tons-refrigeration", "pascals", "kilopascals",
    "bars", "pounds-force-per-square-inch", "centimeters-of-water", "inches-of-water",
    "millimeters-of-mercury", "centimeters-of-mercury", "inches-of-mercury", "degrees-celsius",
    "degrees-kelvin", "degrees-fahrenheit", "degree-days-celsius", "degree-days-fahrenheit",
    "years", "months", "weeks", "days", "hours", "minutes", "seconds", "meters-per-second",
    "kilometers-per-hour", "feet-per-second", "feet-per-minute", "miles-per-hour", "cubic-feet",
    "cubic-meters", "imperial-gallons", "liters", "us-gallons", "cubic-feet-per-minute",
    "cubic-meters-per-second", "imperial-gallons-per-minute", "liters-per-second",
    "liters-per-minute", "us-gallons-per-minute", "degrees-angular", "degrees-celsius-per-hour",
    "degrees-celsius-per-minute", "degrees-fahrenheit-per-hour", "degrees-fahrenheit-per-minute",
    "no-units", "parts-per-million", "parts-per-billion", "percent", "percent-per-second",
    "per-minute", "per-second", "psi-per-degree-fahrenheit", "radians", "revolutions-per-minute",
    "currency1", "currency2", "currency3", "currency4", "currency5", "currency6", "currency7",
    "currency8", "currency9", "currency10", "square-inches", "square-centimeters",
    "btus-per-pound", "centimeters", "pounds-mass-per-second", "delta-degrees-fahrenheit",
    "delta-degrees-kelvin", "kilohms", "megohms", "millivolts", "kilojoules-per-kilogram",
    "megajoules", "joules-per-degree-kelvin", "joules-per-kilogram-degree-kelvin", "kilohertz",
    "megahertz", "per-hour", "milliwatts", "hectopascals", "millibars", "cubic-meters-per-hour",
    "liters-per-hour", "kilowatt-hours-per-square-meter", "kilowatt-hours-per-square-foot",
    "megajoules-per-square-meter", "megajoules-per-square-foot",
    "watts-per-square-meter-degree-kelvin", "cubic-feet-per-second",
    "percent-obscuration-per-foot", "percent-obscuration-per-meter", "milliohms", "megawatt-hours",
    "kilo-btus", "mega-btus", "kilojoules-per-kilogram-dry-air", "megajoules-per-kilogram-dry-air",
    "kilojoules-per-degree-kelvin", "megajoules-per-degree-kelvin", "newton", "grams-per-second",
    "grams-per-minute", "tons-per-hour", "kilo-btus-per-hour", "hundredths-seconds",
    "milliseconds", "newton-meters", "millimeters-per-second", "millimeters-per-minute",
    "meters-per-minute", "meters-per-hour", "cubic-meters-per-minute",
    "meters-per-second-per-second", "amperes-per-meter", "amperes-per-square-meter",
    "ampere-square-meters", "farads", "henrys", "ohm-meters", "siemens", "siemens-per-meter",
    "teslas", "volts-per-degree-kelvin", "volts-per-meter", "webers", "candelas",
    "candelas-per-square-meter", "degrees-kelvin-per-hour", "degrees-kelvin-per-minute",
    "joule-seconds", "radians-per-second", "square-meters-per-newton", "kilograms-per-cubic-meter",
    "newton-seconds", "newtons-per-meter", "watts-per-meter-per-degree-kelvin", "micro-siemens",
    "cubic-feet-per-hour", "us-gallons-per-hour", "kilometers", "micrometers", "grams",
    "milligrams", "milliliters", "milliliters-per-second", "decibels", "decibels-millivolt",
    "decibels-volt", "millisiemens", "watt-hours-reactive", "kilowatt-hours-reactive",
    "megawatt-hours-reactive", "millimeters-of-water", "per-mille", "grams-per-gram",
    "kilograms-per-kilogram", "grams-per-kilogram", "milligrams-per-gram",
    "milligrams-per-kilogram", "grams-per-milliliter", "grams-per-liter", "milligrams-per-liter",
    "micrograms-per-liter", "grams-per-cubic-meter", "milligrams-per-cubic-meter",
    "micrograms-per-cubic-meter", "nanograms-per-cubic-meter", "grams-per-cubic-centimeter",
    "becquerels", "kilobecquerels", "megabecquerels", "gray", "milligray", "microgray", "sieverts",
    "millisieverts", "microsieverts", "microsieverts-per-hour", "decibels-a",
    "nephelometric-turbidity-unit", "ph", "grams-per-square-meter", "minutes-per-degree-kelvin",
    "ohm-meter-squared-per-meter", "ampere-seconds", "volt-ampere-hours", "kilovolt-ampere-hours",
    "megavolt-ampere-hours", "volt-ampere-hours-reactive", "kilovolt-ampere-hours-reactive",
    "megavolt-ampere-hours-reactive", "volt-square-hours", "ampere-square-hours",
    "joule-per-hours", "cubic-feet-per-day", "cubic-meters-per-day", "watt-hours-per-cubic-meter",
    "joules-per-cubic-meter", "mole-percent", "pascal-seconds",
    "million-standard-cubic-feet-per-minute"
};
static const char *const units_47808[] = {
    "standard-cubic-feet-per-day", "million-standard-cubic-feet-per-day",
    "thousand-cubic-feet-per-day", "thousand-standard-cubic-feet-per-day", "pounds-mass-per-day",
    NULL, "millirems", "millirems-per-hour", "degrees-lovibond", "alcohol-by-volume",
    "international-bittering-units", "european-bitterness-units", "degrees-plato",
    "specific-gravity", "european-brewing-convention"};

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
    {BACSC_PROP_UNITS, engineering_units, COUNT(engineering_units)},
    {BACSC_PROP_SC_HUB_CONNECTOR_STATE, hub_connector_state, COUNT(hub_connector_state)},
};

const char *bacsc_property_enum_name(uint32_t property, uint32_t value)
{
    if (property == BACSC_PROP_SEGMENTATION_SUPPORTED)
        return bacsc_segmentation_name(value);
    if (property == BACSC_PROP_OBJECT_TYPE)
        return bacsc_object_type_name(value);
    if (property == BACSC_PROP_UNITS && value >= 47808)
        return value - 47808 < COUNT(units_47808) ? units_47808[value - 47808] : NULL;
    for (size_t i = 0; i < COUNT(tables); i++)
        if (tables[i].property == property)
            return value < tables[i].n ? tables[i].names[value] : NULL;
    return NULL;
}
