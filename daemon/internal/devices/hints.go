package devices

import "strings"

// Sources of an OS or device-type hint, from the most to the least
// trusted. A device keeps the latest hint of each source; its os field is
// the hint of the most trusted source present, or a more specific hint of
// the same family from a less trusted one ("Android" from DHCP and
// "Android 14" from a user agent give "Android 14").
const (
	hintModel       = iota // mDNS model (Apple _device-info, Google Cast md=)
	hintVendorClass        // DHCP option 60
	hintUserAgent          // HTTP User-Agent
	hintFingerprint        // DHCP option 55 list
	hintSources
)

// composeOS picks the os value from the hints of one device.
func composeOS(h *[hintSources]string) string {
	best := ""
	for _, v := range h {
		if v == "" {
			continue
		}
		if best == "" {
			best = v
		} else if strings.HasPrefix(v, best+" ") {
			best = v
		}
	}
	return best
}

// vendorClassHint reads DHCP option 60.
func vendorClassHint(vc string) string {
	switch {
	case strings.HasPrefix(vc, "MSFT "):
		return "Windows"
	case strings.HasPrefix(vc, "android-dhcp-"):
		if v := leadingNumber(vc[len("android-dhcp-"):]); v != "" {
			return "Android " + v
		}
		return "Android"
	case strings.HasPrefix(vc, "dhcpcd"):
		// dhcpcd-<version>:<system>-<release>:<machine>:<platform>
		if _, rest, ok := strings.Cut(vc, ":"); ok {
			sys, _, _ := strings.Cut(rest, "-")
			sys, _, _ = strings.Cut(sys, ":")
			if !systemName(sys) {
				return ""
			}
			return sys
		}
		return "Linux"
	case strings.HasPrefix(vc, "udhcp"):
		return "Linux (BusyBox)"
	case strings.HasPrefix(vc, "Cisco Systems, Inc. IP Phone"):
		return "Cisco IP Phone"
	case strings.HasPrefix(vc, "PXEClient"):
		return "PXE boot"
	case strings.Contains(vc, ":android:") || strings.HasPrefix(vc, "android"):
		return "Android"
	}
	return ""
}

// systemName reports whether s looks like a uname system name ("Linux",
// "NetBSD"): 2 to 16 letters and digits, starting with a letter.
func systemName(s string) bool {
	if len(s) < 2 || len(s) > 16 || !isLetter(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLetter(s[i]) && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// fingerprintHint reads well-known DHCP parameter request lists. It is the
// weakest hint: the lists belong to DHCP clients, not to systems, so only
// lists that one family sends are named.
func fingerprintHint(fp string) string {
	switch fp {
	case "1,3,6,15,31,33,43,44,46,47,119,121,249,252":
		return "Windows"
	case "1,121,33,3,6,12,15,26,28,42,51,54,58,59,119", "1,28,2,3,15,6,119,12,44,47,26,121,42":
		return "Linux"
	case "1,66,6,3,15,150,35":
		return "Cisco IP Phone"
	}
	switch {
	case strings.HasPrefix(fp, "1,3,6,15,26,28,51,58,59,43"):
		return "Android"
	case strings.HasPrefix(fp, "1,121,3,6,15,119,252") || strings.HasPrefix(fp, "1,3,6,15,119,252") ||
		strings.HasPrefix(fp, "1,3,6,15,119,95,252"):
		return "Apple"
	}
	return ""
}

// modelHint reads a device model from mDNS.
func modelHint(model string) string {
	switch {
	case strings.HasPrefix(model, "iPhone"), strings.HasPrefix(model, "iPod"):
		return "iOS"
	case strings.HasPrefix(model, "iPad"):
		return "iPadOS"
	case strings.HasPrefix(model, "MacBook"), strings.HasPrefix(model, "iMac"), strings.HasPrefix(model, "Macmini"),
		strings.HasPrefix(model, "MacPro"), strings.HasPrefix(model, "Mac") && len(model) > 3 && isDigit(model[3]):
		return "macOS"
	case strings.HasPrefix(model, "AppleTV"):
		return "tvOS"
	case strings.HasPrefix(model, "Watch"):
		return "watchOS"
	case strings.HasPrefix(model, "AudioAccessory"):
		return "HomePod"
	case strings.HasPrefix(model, "Chromecast"), strings.HasPrefix(model, "Google"):
		return "Google Cast"
	}
	return ""
}

// userAgentHint reads an HTTP User-Agent. The order of the tests matters:
// an Xbox says "Windows NT", Android says "Linux", an iPad may say
// "Macintosh" (and is then taken for a Mac).
func userAgentHint(ua string) string {
	switch {
	case strings.Contains(ua, "Xbox"):
		return "Xbox"
	case strings.Contains(ua, "PlayStation"):
		return "PlayStation"
	case strings.Contains(ua, "Nintendo"):
		return "Nintendo"
	case strings.Contains(ua, "Android"):
		_, rest, _ := strings.Cut(ua, "Android")
		if v := leadingNumber(strings.TrimLeft(rest, " /")); v != "" {
			return "Android " + v
		}
		return "Android"
	case strings.Contains(ua, "Windows NT"):
		_, rest, _ := strings.Cut(ua, "Windows NT ")
		switch {
		case strings.HasPrefix(rest, "6.1"):
			return "Windows 7"
		case strings.HasPrefix(rest, "6.2"):
			return "Windows 8"
		case strings.HasPrefix(rest, "6.3"):
			return "Windows 8.1"
		}
		return "Windows"
	case strings.Contains(ua, "iPad"):
		return appleVersion("iPadOS", ua, " OS ")
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPod"):
		return appleVersion("iOS", ua, "iPhone OS ")
	case strings.Contains(ua, "AppleTV") || strings.Contains(ua, "tvOS"):
		return "tvOS"
	case strings.Contains(ua, "CrOS"):
		return "ChromeOS"
	case strings.Contains(ua, "Macintosh") || strings.Contains(ua, "Mac OS X"):
		return "macOS"
	case strings.Contains(ua, "Tizen"):
		return "Tizen"
	case strings.Contains(ua, "Web0S") || strings.Contains(ua, "webOS"):
		return "webOS"
	case strings.Contains(ua, "Roku"):
		return "Roku"
	case strings.Contains(ua, "X11; Linux") || strings.Contains(ua, "Ubuntu") || strings.Contains(ua, "Fedora"):
		return "Linux"
	}
	return ""
}

// appleVersion returns name with the major version that follows marker in
// ua ("iPhone OS 17_1" gives "iOS 17"), or name alone.
func appleVersion(name, ua, marker string) string {
	if _, rest, ok := strings.Cut(ua, marker); ok {
		if v := leadingNumber(rest); v != "" {
			return name + " " + v
		}
	}
	return name
}

// leadingNumber returns the decimal digits at the start of s (at most 3).
func leadingNumber(s string) string {
	n := 0
	for n < len(s) && n < 3 && isDigit(s[n]) {
		n++
	}
	if n < len(s) && isDigit(s[n]) {
		return "" // too long to be a version
	}
	return s[:n]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
