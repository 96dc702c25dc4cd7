# Puts the project's Node.js LTS first on PATH. Source it, then use npm as usual:
#
#   . scripts/use-node.sh && npm ci && npm test
#
# The version is pinned in .node-version. A machine whose `node` is already of that major
# line is used as it is; otherwise the pinned release is installed once from npm's `node`
# package (the official binaries) into .tools/node/<version>/ and put first on PATH for
# this shell. The machine's own Node and npm are left alone: npm runs on whichever `node`
# comes first on PATH.

# Where this file is: bash and zsh say; a plain POSIX sh does not, so it must be sourced
# from the project's root there.
ao_node_self=${BASH_SOURCE:-}
[ -n "$ao_node_self" ] || ao_node_self=${ZSH_VERSION:+$0}
[ -n "$ao_node_self" ] || ao_node_self=scripts/use-node.sh
ao_node_root=$(cd "$(dirname -- "$ao_node_self")/.." && pwd)
ao_node_version=$(tr -d ' \n\r' < "$ao_node_root/.node-version")
ao_node_major=${ao_node_version%%.*}
ao_node_have=$(node --version 2>/dev/null | sed 's/^v//')

if [ "${ao_node_have%%.*}" = "$ao_node_major" ]; then
  echo "node $ao_node_have (the machine's; the project's LTS line is $ao_node_major)"
else
  ao_node_dir="$ao_node_root/.tools/node/$ao_node_version"
  ao_node_bin="$ao_node_dir/node_modules/node/bin"
  if ! "$ao_node_bin/node" --version >/dev/null 2>&1; then
    echo "node ${ao_node_have:-(none)} is not Node $ao_node_major: installing Node $ao_node_version from npm's \`node\` package into .tools/node/$ao_node_version (about 50 MB, once) ..."
    mkdir -p "$ao_node_dir"
    if ! npm install --prefix "$ao_node_dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node@$ao_node_version" >/dev/null; then
      echo "could not install Node $ao_node_version (is the npm registry reachable?)" >&2
      return 1 2>/dev/null || exit 1
    fi
  fi
  PATH="$ao_node_bin:$PATH"
  export PATH
  echo "node $("$ao_node_bin/node" --version | sed 's/^v//') (.tools/node/$ao_node_version, first on PATH for this shell)"
fi
unset ao_node_self ao_node_root ao_node_version ao_node_major ao_node_have ao_node_dir ao_node_bin
