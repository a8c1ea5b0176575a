() => { if (window.innerWidth < 760) { const r = document.getElementById('result'); if (r) r.scrollIntoView({block: 'start'}); } }
