/*
 * test_units_wireshark.c — the BACnetEngineeringUnits names bacsc prints
 * (bacsc_property_enum_name for Units, property 117) checked entry by entry
 * against Wireshark's BACnet dissector (tshark 4.0).
 *
 * One BACnet/IP ReadProperty-ACK (analog-value,1 units) per value 0..299,
 * 47807..47826 and a few in the proprietary range 50000.., encoded with bacsc's own encoders, is
 * dissected by tshark; for every value tshark names, bacsc's name must be
 * tshark's text with the style normalised (lower case, hyphens for spaces),
 * except for the values listed in `differ` below, where tshark abbreviates
 * or misspells the standard's word: there tshark's text must still be
 * exactly the one listed (so the list cannot go stale) and bacsc prints the
 * full word. Values tshark does not name (255 unassigned, 47813 reserved,
 * 256..47807 and 50000.. proprietary) must have no name in bacsc (printed as the number).
 * Exit 77 (skipped) when tshark/text2pcap are not installed.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bacsc/apdu.h"
#include "bacsc/bip.h"
#include "bacsc/npdu.h"
#include "bacsc/services.h"
#include "support_tshark.h"

/* tshark's words differ from the standard's here (abbreviation or typo). */
static const struct {
    uint32_t value;
    const char *tshark, *ours;
} differ[] = {
    {0, "Sq Meters", "square-meters"},
    {1, "Sq Feet", "square-feet"},
    {23, "Joules Per Kg Dry Air", "joules-per-kilogram-dry-air"},
    {29, "Relative Humidity", "percent-relative-humidity"},
    {33, "Feed", "feet"},
    {34, "Watts Per Sq Foot", "watts-per-square-foot"},
    {35, "Watts Per Sq meter", "watts-per-square-meter"},
    {42, "Kgs per Second", "kilograms-per-second"},
    {43, "Kgs Per Minute", "kilograms-per-minute"},
    {44, "Kgs Per Hour", "kilograms-per-hour"},
    {47, "Watt", "watts"},
    {76, "Feed Per Second", "feet-per-second"},
    {104, "Revolutions Per Min", "revolutions-per-minute"},
    {115, "Sq Inches", "square-inches"},
    {116, "Sq Centimeters", "square-centimeters"},
    {125, "Kilojoules Per Kg", "kilojoules-per-kilogram"},
    {128, "Joules Per Kg Degree Kelvin", "joules-per-kilogram-degree-kelvin"},
    {137, "KWatt Hours Per Square Meter", "kilowatt-hours-per-square-meter"},
    {138, "KWatt Hours Per Square Foot", "kilowatt-hours-per-square-foot"},
    {141, "Watts Per Sq Meter Degree Kelvin", "watts-per-square-meter-degree-kelvin"},
    {143, "Percent Obstruction Per Foot", "percent-obscuration-per-foot"},
    {144, "Percent Obstruction Per Meter", "percent-obscuration-per-meter"},
};

#define NLOW 300
#define NHIGH 20   /* 47807..47826 */
static const uint32_t top[] = {49999, 50000, 65535};
#define NVALUES (NLOW + NHIGH + sizeof top / sizeof top[0])

static char tmpdir[64];
static char named[NVALUES][128];   /* tshark's text per value ("" none) */

static uint32_t value_at(size_t i)
{
    if (i < NLOW)
        return (uint32_t)i;
    if (i < NLOW + NHIGH)
        return (uint32_t)(47807 + i - NLOW);
    return top[i - NLOW - NHIGH];
}

/* B/IP Original-Unicast-NPDU carrying ReadProperty-ACK analog-value,1 units = v */
static size_t frame(uint32_t v, uint8_t *out, size_t cap)
{
    uint8_t val[8], svc[64], apdu[96], npdu[128];
    int vn = bacsc_app_encode_enumerated(val, sizeof val, v);
    assert_true(vn > 0);
    bacsc_rp_ack ack = {{BACSC_OBJ_ANALOG_VALUE, 1}, BACSC_PROP_UNITS, false, 0, val, (size_t)vn};
    int sn = bacsc_rp_ack_encode(svc, sizeof svc, &ack);
    assert_true(sn > 0);
    bacsc_apdu a;
    bacsc_apdu_init_complex_ack(&a, BACSC_SERVICE_READ_PROPERTY, 1);
    a.data = svc;
    a.data_len = (size_t)sn;
    int an = bacsc_apdu_encode(apdu, sizeof apdu, &a);
    assert_true(an > 0);
    bacsc_npdu n;
    bacsc_npdu_init(&n, false);
    n.payload = apdu;
    n.payload_len = (size_t)an;
    int nn = bacsc_npdu_encode(npdu, sizeof npdu, &n);
    assert_true(nn > 0);
    int bn = bacsc_bip_encode_npdu(out, cap, false, npdu, (size_t)nn);
    assert_true(bn > 0);
    return (size_t)bn;
}

/* Dissect every frame; fill named[] from tshark's "units:  <text> (<v>)" lines. */
static void dissect_all(void)
{
    char hex[128], pcap[128], cmd[512];
    snprintf(hex, sizeof hex, "%s/units.hex", tmpdir);
    snprintf(pcap, sizeof pcap, "%s/units.pcap", tmpdir);
    FILE *fp = fopen(hex, "w");
    assert_non_null(fp);
    for (size_t i = 0; i < NVALUES; i++) {
        uint8_t raw[160];
        size_t len = frame(value_at(i), raw, sizeof raw);
        tsk_hexdump(fp, raw, len);
    }
    fclose(fp);
    tsk_text2pcap(false, hex, pcap);
    snprintf(cmd, sizeof cmd, "tshark -r %s -V 2>/dev/null", pcap);
    FILE *pp = popen(cmd, "r");
    assert_non_null(pp);
    char line[512];
    size_t got = 0;
    while (fgets(line, sizeof line, pp)) {
        line[strcspn(line, "\n")] = 0;
        const char *p = line + strspn(line, " ");
        if (strncmp(p, "units:  ", 8) != 0)
            continue;
        p += 8;
        char *open = strrchr(p, '(');
        assert_non_null(open);
        unsigned long v = strtoul(open + 1, NULL, 10);
        assert_true(got < NVALUES);
        assert_int_equal(v, value_at(got));
        size_t n = (size_t)(open - p);
        while (n > 0 && p[n - 1] == ' ')
            n--;
        snprintf(named[got], sizeof named[got], "%.*s", (int)n, p);
        /* tshark's words for "no name": "(256) Vendor Proprietary Value",
         * "unassigned-unit-value-255", "reserved-unit-47813" */
        if (strstr(named[got], "Proprietary") || strncmp(named[got], "unassigned", 10) == 0 ||
            strncmp(named[got], "reserved", 8) == 0)
            named[got][0] = 0;
        got++;
    }
    assert_int_equal(pclose(pp), 0);
    assert_int_equal(got, NVALUES);
}

/* bacsc's name `ours` for v agrees with tshark's text: normalised, or as listed */
static bool agrees(uint32_t v, const char *ours, const char *tshark)
{
    if (tshark[0] == 0)
        return ours == NULL;
    if (ours == NULL)
        return false;
    for (size_t i = 0; i < sizeof differ / sizeof differ[0]; i++)
        if (differ[i].value == v)
            return strcmp(tshark, differ[i].tshark) == 0 && strcmp(ours, differ[i].ours) == 0;
    char norm[128];
    size_t n = 0;
    for (; tshark[n] && n + 1 < sizeof norm; n++)
        norm[n] = tshark[n] == ' ' ? '-' : (char)tolower((unsigned char)tshark[n]);
    norm[n] = 0;
    return strcmp(ours, norm) == 0;
}

static bool standard_style(const char *s)
{
    if (s == NULL || !islower((unsigned char)s[0]))
        return false;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-'))
            return false;
    return true;
}

static void every_entry_matches_wireshark(void **state)
{
    (void)state;
    dissect_all();
    int bad = 0, n_named = 0;
    for (size_t i = 0; i < NVALUES; i++) {
        uint32_t v = value_at(i);
        const char *ours = bacsc_property_enum_name(BACSC_PROP_UNITS, v);
        if (!agrees(v, ours, named[i])) {
            print_error("units %u: bacsc \"%s\", tshark \"%s\"\n", v, ours ? ours : "(number)",
                        named[i]);
            bad++;
        }
        if (ours && !standard_style(ours)) {
            print_error("units %u: \"%s\" is not lower-case hyphenated\n", v, ours);
            bad++;
        }
        n_named += ours != NULL;
    }
    assert_int_equal(bad, 0);
    /* 0..254 and 47808..47822 but 47813: the whole range tshark 4.0 names */
    assert_int_equal(n_named, 255 + 14);
    assert_string_equal(bacsc_property_enum_name(BACSC_PROP_UNITS, 62), "degrees-celsius");
    assert_string_equal(bacsc_property_enum_name(BACSC_PROP_UNITS, 95), "no-units");
    assert_string_equal(bacsc_property_enum_name(BACSC_PROP_UNITS, 98), "percent");
}

/* The comparison can fail: a wrong word, a style-only rename of a listed
 * difference, a name where tshark has none and a missing name are caught. */
static void checker_catches_mismatches(void **state)
{
    (void)state;
    assert_false(agrees(62, "degrees-fahrenheit", "Degrees Celsius"));
    assert_false(agrees(62, "Degrees Celsius", "Degrees Celsius"));
    assert_false(agrees(62, NULL, "Degrees Celsius"));
    assert_false(agrees(0, "sq-meters", "Sq Meters"));
    assert_false(agrees(0, "square-meters", "Square Meters"));
    assert_false(agrees(256, "something", ""));
    assert_true(agrees(62, "degrees-celsius", "Degrees Celsius"));
    assert_true(agrees(33, "feet", "Feed"));
    assert_true(agrees(256, NULL, ""));
    assert_false(standard_style("degrees-Kelvin-per-hour"));
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bacsc-units-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return tsk_rmrf(tmpdir);
}

int main(void)
{
    if (!tsk_have_tools()) {
        printf("SKIP: tshark/text2pcap not installed\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_entry_matches_wireshark),
        cmocka_unit_test(checker_catches_mismatches),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
