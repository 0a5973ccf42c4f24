package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"tamon/luci-app-tamon/harness"
	"tamon/luci-app-tamon/lmo"
)

// postinst and prerm are the control scripts OpenWrt's SDK generates for
// every package (include/package-pack.mk): they hand over to base-files'
// default_postinst and default_prerm from ${IPKG_INSTROOT}/lib/functions.sh.
// On the router (IPKG_INSTROOT empty) default_postinst runs the package's
// uci-defaults, then postinst-pkg, then "enable" (not on upgrade) and
// "start" for each /etc/init.d script the package installed;
// default_prerm runs "stop" and "disable". In an image build or an offline
// root (IPKG_INSTROOT set) they only enable or disable, through the root's
// own rc.common: nothing is started. Without functions.sh (not OpenWrt)
// they do nothing.
const postinst = `#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0
. "${IPKG_INSTROOT}/lib/functions.sh"
default_postinst "$0" "$@"
`

const prerm = `#!/bin/sh
[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0
. "${IPKG_INSTROOT}/lib/functions.sh"
default_prerm "$0" "$@"
`

// luciPostinstPkg is luci-app-tamon's own step, which default_postinst
// sources in a subshell: on the router, drop LuCI's menu and module caches
// and make rpcd reload its ACLs, so the new menu and the luci-app-tamon
// access group work without a reboot. Nothing in an offline root.
const luciPostinstPkg = `#!/bin/sh
[ -n "${IPKG_INSTROOT}" ] || {
	rm -f /tmp/luci-indexcache /tmp/luci-indexcache.*
	rm -rf /tmp/luci-modulecache/
	killall -HUP rpcd 2>/dev/null
	exit 0
}
`

// Repo locates the files a package is made of.
type Repo struct {
	Root string // repository root (holds go.mod)
}

func (r Repo) path(rel string) string { return filepath.Join(r.Root, filepath.FromSlash(rel)) }

// TamonPackage assembles the tamon package for t around the tamond binary
// at bin, with the fields of openwrt/Makefile.
func (r Repo) TamonPackage(t Target, bin, version string, epoch int64) (*Package, error) {
	mk, err := ReadMakefile(r.path("openwrt/Makefile"))
	if err != nil {
		return nil, err
	}
	name, err := mk.Var("PKG_NAME")
	if err != nil {
		return nil, err
	}
	license, err := mk.Var("PKG_LICENSE")
	if err != nil {
		return nil, err
	}
	def := mk.DefineVars("Package/" + name)
	desc := strings.Join(mk.Lines("Package/"+name+"/description"), "\n")
	if def["SECTION"] == "" || desc == "" {
		return nil, fmt.Errorf("%s: Package/%s needs SECTION and a description", mk.Path, name)
	}
	p := &Package{
		Name: name, Version: version, Arch: t.Arch,
		Depends:     Depends(def["DEPENDS"]),
		Source:      "feeds/tamon/openwrt",
		SourceName:  name,
		License:     license,
		Section:     def["SECTION"],
		Description: desc,
		Epoch:       epoch,
		Scripts:     []File{{Path: "postinst", Data: []byte(postinst)}, {Path: "prerm", Data: []byte(prerm)}},
	}
	add := func(dst, src string, mode int64, optional bool) error {
		data, err := os.ReadFile(src)
		if optional && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("package %s: %w", name, err)
		}
		p.Files = append(p.Files, File{Path: dst, Mode: mode, Data: data})
		return nil
	}
	// Modes as the SDK's INSTALL_BIN (0755), INSTALL_CONF (0600: the file
	// may hold a database password and the API token) and INSTALL_DATA.
	for _, f := range []struct {
		dst, src string
		mode     int64
		optional bool
	}{
		{"/usr/sbin/tamond", bin, 0o755, false},
		{"/etc/init.d/tamon", r.path("openwrt/files/tamon.init"), 0o755, false},
		{"/etc/config/tamon", r.path("openwrt/files/tamon.config"), 0o600, false},
		{"/etc/tamon/features.txt", r.path("features.txt"), 0o644, true},
	} {
		if err := add(f.dst, f.src, f.mode, f.optional); err != nil {
			return nil, err
		}
	}
	p.Conffiles, err = conffiles(p, mk.Lines("Package/"+name+"/conffiles"))
	return p, err
}

// conffiles keeps the declared conffiles the package holds, like
// ipkg-build. Those it lacks go to /lib/upgrade/keep.d/<name>, as the SDK
// does, so that sysupgrade keeps them when the user adds them later.
func conffiles(p *Package, declared []string) ([]string, error) {
	var have, keep []string
	for _, c := range declared {
		if !strings.HasPrefix(c, "/") {
			return nil, fmt.Errorf("package %s: conffile %q is not an absolute path", p.Name, c)
		}
		if slices.ContainsFunc(p.Files, func(f File) bool { return f.Path == c }) {
			have = append(have, c)
		} else {
			keep = append(keep, c)
		}
	}
	if len(keep) > 0 {
		p.Files = append(p.Files, File{Path: "/lib/upgrade/keep.d/" + p.Name, Mode: 0o644, Data: []byte(strings.Join(keep, "\n") + "\n")})
	}
	slices.Sort(have)
	return have, nil
}

// LuciPackage assembles luci-app-tamon (architecture all) from
// luci-app-tamon/: htdocs/ goes to /www and root/ to /, as luci.mk installs
// them, keeping each file's executable bit. po/ is not packaged: luci.mk
// makes separate luci-i18n-tamon-<lang> packages of compiled .lmo
// catalogues (I18nPackages). If the app has no ACL file yet, a default one is added; a
// menu is added only if there is none and views exist to point at.
func (r Repo) LuciPackage(version string, epoch int64) (*Package, error) {
	dir := r.path("luci-app-tamon")
	mk, err := ReadMakefile(filepath.Join(dir, "Makefile"))
	if err != nil {
		return nil, err
	}
	license, err := mk.Var("PKG_LICENSE")
	if err != nil {
		return nil, err
	}
	title, err := mk.Var("LUCI_TITLE")
	if err != nil {
		return nil, err
	}
	arch := mk.Vars["LUCI_PKGARCH"]
	if arch == "" {
		arch = "all"
	}
	desc := title
	if d := mk.Vars["LUCI_DESCRIPTION"]; d != "" {
		desc = d
	}
	p := &Package{
		Name: "luci-app-tamon", Version: version, Arch: arch,
		Depends:     Depends(mk.Vars["LUCI_DEPENDS"]),
		Source:      "feeds/tamon/luci-app-tamon",
		SourceName:  "luci-app-tamon",
		License:     license,
		Section:     "luci",
		Description: desc,
		Epoch:       epoch,
		Scripts: []File{
			{Path: "postinst", Data: []byte(postinst)},
			{Path: "postinst-pkg", Data: []byte(luciPostinstPkg)},
			{Path: "prerm", Data: []byte(prerm)},
		},
	}
	for _, tree := range []struct{ src, dst string }{{"htdocs", "/www"}, {"root", "/"}} {
		if err := addTree(p, filepath.Join(dir, tree.src), tree.dst); err != nil {
			return nil, err
		}
	}
	const acl = "/usr/share/rpcd/acl.d/luci-app-tamon.json"
	const menu = "/usr/share/luci/menu.d/luci-app-tamon.json"
	has := func(path string) bool {
		return slices.ContainsFunc(p.Files, func(f File) bool { return f.Path == path })
	}
	if !has(acl) {
		p.Files = append(p.Files, File{Path: acl, Mode: 0o644, Data: []byte(defaultACL)})
	}
	if !has(menu) {
		var views []string
		for _, f := range p.Files {
			if v, ok := strings.CutPrefix(f.Path, "/www/luci-static/resources/view/tamon/"); ok && strings.HasSuffix(v, ".js") && !strings.Contains(v, "/") {
				views = append(views, strings.TrimSuffix(v, ".js"))
			}
		}
		if len(views) > 0 {
			p.Files = append(p.Files, File{Path: menu, Mode: 0o644, Data: []byte(defaultMenu(views))})
		}
	}
	return p, nil
}

// addTree adds every regular file under src as dst/<relative path>.
func addTree(p *Package, src, dst string) error {
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", path)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		mode := int64(0o644)
		if info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		p.Files = append(p.Files, File{Path: filepath.ToSlash(filepath.Join(dst, rel)), Mode: mode, Data: data})
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("package %s: add %s: %w", p.Name, src, err)
	}
	return nil
}

// defaultACL grants the luci-app-tamon access group: read for the UCI
// package and the luci.tamon rpcd object, write for the UCI package. tamond
// checks a LuCI session against this group (ubus call session access, scope
// access-group), so the group must exist even before the views do.
const defaultACL = `{
	"luci-app-tamon": {
		"description": "Grant access to tamon traffic monitor",
		"read": {
			"ubus": {
				"luci.tamon": [ "info" ]
			},
			"uci": [ "tamon" ]
		},
		"write": {
			"uci": [ "tamon" ]
		}
	}
}
`

// defaultMenu puts the views under Services → tamon, shown only to users of
// the luci-app-tamon group and only while /etc/config/tamon exists.
func defaultMenu(views []string) string {
	slices.Sort(views)
	var b strings.Builder
	b.WriteString(`{
	"admin/services/tamon": {
		"title": "Traffic monitor",
		"order": 60,
		"action": {
			"type": "firstchild"
		},
		"depends": {
			"acl": [ "luci-app-tamon" ],
			"uci": { "tamon": true }
		}
	}`)
	for i, v := range views {
		title := strings.ToUpper(v[:1]) + v[1:]
		fmt.Fprintf(&b, `,
	"admin/services/tamon/%s": {
		"title": %q,
		"order": %d,
		"action": {
			"type": "view",
			"path": "tamon/%s"
		}
	}`, v, title, (i+1)*10, v)
	}
	b.WriteString("\n}\n")
	return b.String()
}

// luciLangCodes are the language codes luci.mk gives po/ folders whose name
// is not already one: the luci-i18n package suffix and the .lmo name.
var luciLangCodes = map[string]string{"zh_Hans": "zh-cn", "zh_Hant": "zh-tw", "pt_BR": "pt-br", "nb_NO": "no"}

// luciLangNames are the language names of the i18n packages' titles.
var luciLangNames = map[string]string{"zh_Hans": "简体中文 (Chinese Simplified)"}

// I18nPackages compiles each luci-app-tamon/po/<lang>/tamon.po into an .lmo
// catalogue (package tamon/luci-app-tamon/lmo) and packages it as luci.mk
// does: luci-i18n-tamon-<code> (zh_Hans: zh-cn), architecture all,
// depending on luci-app-tamon, with /usr/lib/lua/luci/i18n/tamon.<code>.lmo.
// Fuzzy and untranslated messages are left out. A catalogue that does not
// parse, or whose keys collide, is an error naming it.
func (r Repo) I18nPackages(version string, epoch int64) ([]*Package, error) {
	dir := r.path("luci-app-tamon/po")
	langs, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("translations: %w", err)
	}
	mk, err := ReadMakefile(r.path("luci-app-tamon/Makefile"))
	if err != nil {
		return nil, err
	}
	license, err := mk.Var("PKG_LICENSE")
	if err != nil {
		return nil, err
	}
	var out []*Package
	for _, l := range langs {
		if !l.IsDir() || l.Name() == "templates" {
			continue
		}
		po := filepath.Join(dir, l.Name(), "tamon.po")
		lmoData, err := CompileLMO(po)
		if err != nil {
			return nil, err
		}
		code := luciLangCodes[l.Name()]
		if code == "" {
			code = strings.ToLower(strings.ReplaceAll(l.Name(), "_", "-"))
		}
		title := l.Name()
		if n := luciLangNames[l.Name()]; n != "" {
			title = n
		}
		out = append(out, &Package{
			Name: "luci-i18n-tamon-" + code, Version: version, Arch: "all",
			Depends:     []string{"libc", "luci-app-tamon"},
			Source:      "feeds/tamon/luci-app-tamon",
			SourceName:  "luci-app-tamon",
			License:     license,
			Section:     "luci",
			Description: "Translation for luci-app-tamon - " + title,
			Epoch:       epoch,
			Files:       []File{{Path: "/usr/lib/lua/luci/i18n/tamon." + code + ".lmo", Mode: 0o644, Data: lmoData}},
		})
	}
	return out, nil
}

// CompileLMO reads a .po catalogue and returns its .lmo form.
func CompileLMO(po string) ([]byte, error) {
	entries, err := harness.ParsePOFile(po)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", po, err)
	}
	var msgs []lmo.Message
	plural := ""
	for _, e := range entries {
		if e.ID == "" {
			if len(e.Str) > 0 {
				plural = lmo.PluralForms(e.Str[0])
			}
			continue
		}
		if e.Fuzzy {
			continue
		}
		msgs = append(msgs, lmo.Message{Ctx: e.Ctx, ID: e.ID, Plural: e.Plural, Str: e.Str})
	}
	var b bytes.Buffer
	if err := lmo.Write(&b, msgs, plural); err != nil {
		return nil, fmt.Errorf("compile %s: %w", po, err)
	}
	return b.Bytes(), nil
}
