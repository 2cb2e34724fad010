import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * The page's static files, all from this process: our stylesheet and script (below), and uPlot
 * (the npm package `uplot`, MIT, ~50 KB) read from node_modules. Nothing comes from the internet.
 */

const CSS = `*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#f5f6f8}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding:.75rem 1rem;background:#1f2933;color:#fff}
header h1{font-size:1.15rem;margin:0}
header a,header button.link{color:#cde}
.who{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;font-size:.9rem}
main{max-width:1100px;margin:0 auto;padding:.75rem}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:.75rem 1rem;margin:0 0 .75rem;min-width:0}
h2{font-size:1.05rem;margin:.25rem 0 .5rem}h3{font-size:.95rem;margin:.75rem 0 .4rem}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:.5rem;margin:0}
.figures div{background:#f5f6f8;border-radius:4px;padding:.4rem .6rem;min-width:0}
dt{font-size:.75rem;color:#5b6570;text-transform:uppercase;letter-spacing:.03em}dd{margin:0;font-weight:600;overflow-wrap:anywhere}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:.88rem}
th,td{text-align:left;padding:.3rem .45rem;border-bottom:1px solid #eceff2;vertical-align:top}
th{font-size:.75rem;color:#5b6570;text-transform:uppercase;white-space:nowrap}
td code,dd code{overflow-wrap:anywhere;font-size:.85em}
.ua,.err{display:inline-block;max-width:28rem;overflow-wrap:anywhere}
.err{color:#a1260d}
.banner{background:#fde8e4;border:1px solid #e7a899;color:#7a1b07;border-radius:6px;padding:.6rem .9rem;margin:0 0 .75rem}
.banner ul{margin:.3rem 0 0;padding-left:1.2rem}
.ok{background:#e6f4ea;border:1px solid #a8d5b5;border-radius:6px;padding:.5rem .9rem;margin:0 0 .75rem}
.notice{background:#e8f0fe;border:1px solid #a9c1f5;border-radius:6px;padding:.5rem .9rem;margin:0 0 .75rem}
.na{color:#5b6570;font-style:italic}.bad{color:#a1260d;font-weight:600}.warn{color:#ffd479}
.tag{background:#1f6f3f;color:#fff;border-radius:3px;padding:0 .35rem;font-size:.8rem}
.st{font-weight:600}.st-failed,.st-refused,.st-open{color:#a1260d}.st-published,.st-activated,.st-closed{color:#1f6f3f}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin:.25rem 0 .6rem}
form.inline{display:inline}
button{font:inherit;font-size:.88rem;padding:.3rem .7rem;border:1px solid #8795a1;border-radius:4px;background:#fff;cursor:pointer}
button:hover{background:#eef1f4}
button.link{border:none;background:none;text-decoration:underline;padding:0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:.75rem}
figure{margin:0;min-width:0}figcaption{font-size:.8rem;color:#5b6570}
.chart{width:100%;min-height:170px;overflow:hidden}
pre{background:#f5f6f8;padding:.6rem;border-radius:4px;overflow-x:auto;font-size:.8rem;max-height:40rem}
.login{max-width:26rem;margin:2rem auto}.login input{display:block;width:100%;font:inherit;padding:.45rem;margin:.3rem 0 .7rem}
footer{font-size:.8rem;color:#5b6570;padding:.25rem .25rem 1rem}
`;

/** Draws one uPlot chart per .chart element from the JSON the page embeds. */
const JS = `(function(){
  var el=document.getElementById('chart-data'); if(!el||!window.uPlot) return;
  var d=JSON.parse(el.textContent); if(d.t.length<2) return;
  var colors=['#1f77b4','#d62728','#2ca02c','#9467bd','#ff7f0e'];
  document.querySelectorAll('.chart').forEach(function(box){
    var key=box.getAttribute('data-series'), series=[{}], data=[d.t];
    if(key==='recs'){ Object.keys(d.recs).forEach(function(k,i){ series.push({label:k,stroke:colors[i%5]}); data.push(d.recs[k]); }); }
    else { series.push({label:key,stroke:colors[0]}); data.push(d[key]); }
    if(data.length<2){ box.textContent='Not available yet.'; return; }
    var width=function(){ return Math.max(200, box.clientWidth); };
    var plot=new uPlot({width:width(),height:160,series:series,legend:{show:series.length>2},axes:[{},{size:50}]},data,box);
    window.addEventListener('resize',function(){ plot.setSize({width:width(),height:160}); });
  });
})();
`;

const require = createRequire(import.meta.url);

export interface Asset {
  type: string;
  body: Buffer;
}

let uplotFiles: Promise<{ js: Buffer; css: Buffer }> | null = null;

function uplot() {
  uplotFiles ??= (async () => {
    const dist = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
    const [js, css] = await Promise.all([
      readFile(path.join(dist, 'uPlot.iife.min.js')),
      readFile(path.join(dist, 'uPlot.min.css')),
    ]);
    return { js, css };
  })();
  return uplotFiles;
}

export async function assetOf(name: string): Promise<Asset | null> {
  switch (name) {
    case 'status.css':
      return { type: 'text/css; charset=utf-8', body: Buffer.from(CSS) };
    case 'status.js':
      return { type: 'text/javascript; charset=utf-8', body: Buffer.from(JS) };
    case 'uplot.min.js':
      return { type: 'text/javascript; charset=utf-8', body: (await uplot()).js };
    case 'uplot.min.css':
      return { type: 'text/css; charset=utf-8', body: (await uplot()).css };
    default:
      return null;
  }
}
